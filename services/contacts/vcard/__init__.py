"""Contacts in and out as vCard (.vcf) files.

- ``limits``: a file's shape (lines, longest property, charsets) checked before any card is read
- ``reader``: cards split and parsed into our fields
- ``importing``: each card creates or updates a contact, through the same writes as the API
- ``writer``: a contact as a card
- ``export``: one contact or a search as a .vcf file
- ``schemas``: what the vCard calls accept and answer
"""
