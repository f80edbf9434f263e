"""Fine-tuning adapters: stable layer names (what ``--freeze`` patterns match) and LoRA."""
