"""The service layer: every query and every business rule of the HTTP API lives here."""
