"""Dev-only tooling: reads ``template.yaml`` and runs the service without AWS or Docker."""
