"""The notifier service: the in-app notifications of each user (the messenger inbox)."""
