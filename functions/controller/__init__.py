"""The controller function: every judgement of the Step Functions controller (survey,
settle, judge, ask); docs/functions.md, "Controller"."""
