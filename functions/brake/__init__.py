"""The brake: canary off at once when the rollback alarm fires after a flag deployment."""
