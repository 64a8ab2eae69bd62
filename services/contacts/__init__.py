"""contacts: companies and their sites, contacts, employments, interests, search."""
