"""What the guard function reaches in the rehearsal: loopback stand-ins of AppConfig's
control plane (cutover/rehearsal/appconfig_api.py), CloudWatch's DescribeAlarms
(cutover/rehearsal/cloudwatch_api.py) and SNS's Publish (cutover/rehearsal/sns_api.py), wired to the
rehearsal's own AppConfig, alarm evaluation and clock. The function's boto3 clients
find them through the service-specific endpoint variables (AWS_ENDPOINT_URL_<SERVICE>).
"""

from __future__ import annotations

from typing import Any

from .release import ACCOUNT


class GuardApis:
    def __init__(self, world: Any, rollback_alarm: str) -> None:
        from .cloudwatch_api import DescribeAlarmsApi
        from .sns_api import PublishApi

        alarms = world.alarms
        self.world = world

        def states() -> dict[str, tuple[str, str]]:
            out = {a.name: ("MetricAlarm", alarms.state(a.name)) for a in alarms.alarms.values()}
            out[alarms.composite_name] = ("CompositeAlarm", alarms.state(alarms.composite_name))
            return out

        self.cloudwatch = DescribeAlarmsApi(states, world.clock)
        self.sns = PublishApi(world.clock)
        spec = world.spec
        self.topic_arn = (f"arn:aws:sns:{spec.release.region}:{ACCOUNT}:"
                          f"{spec.release.name}-{spec.release.environment}-alarms")

    def endpoints(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_APPCONFIG": self.world.control_plane.url,
                "AWS_ENDPOINT_URL_CLOUDWATCH": self.cloudwatch.url,
                "AWS_ENDPOINT_URL_SNS": self.sns.url}

    def published(self) -> list[dict[str, Any]]:
        return [{"second": m.at, "by": "guard", "subject": m.subject} for m in self.sns.messages]

    def close(self) -> None:
        self.cloudwatch.close()
        self.sns.close()
