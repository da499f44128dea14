"""The deploy probe: CodeDeploy's BeforeAllowTraffic hook, which judges a new version by reading through it."""
