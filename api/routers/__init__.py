"""HTTP routes. Each is thin: it checks who may call it and hands over to `api.services`."""
