"""People of a business: starting a business, invitations, set-password links, staff changes, own accounts."""
