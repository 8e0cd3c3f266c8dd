"""The outer layer: the command line (`api.cli`) and the web service.

Service layout: `config` (settings from `BEDMATCH_*`), `db` (engine, sessions, the placement
write lock), `orm` (tables), `migrations` (Alembic), `security` (argon2, JWT, sign-in
throttling, form tokens), `deps` (session, user and role dependencies), `services` (every
query and rule), `routers` (thin HTTP routes and pages), `templates`/`static` (the pages),
`demo` (the seeded demo database) and `app` (`create_app(settings)`).
"""
