"""The CRM services, one package each."""
