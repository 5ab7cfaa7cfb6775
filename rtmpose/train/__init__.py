"""Training: settings (config), AdamW groups / schedule / EMA (optim), DDP set-up, data plumbing, the loop."""
