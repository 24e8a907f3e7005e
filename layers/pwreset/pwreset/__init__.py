"""Password-reset domain package shared by the Lambda handlers (shipped as a layer)."""
