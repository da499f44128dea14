"""cutover: the release spec, its plan and the rendered Terraform and flag documents."""
