"""What happened to the mail: SES events arriving through SNS, and the diagnosis staff read."""
