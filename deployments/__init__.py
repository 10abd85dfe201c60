"""The scheduled deployments of kvartal's flows."""
