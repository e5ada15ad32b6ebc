"""The one home of what tests share (a folder keeps a private helper only if no other folder
uses it; fixtures stay in the conftest files):

- `login`: logging in (a session made directly, or through the real OTP flow), the admin phone
- `http`: the error-shape assertion, a client of its own, a free port
- `database`: MariaDB or SQLite, `requires_mariadb`, emptying tables, counting statements
- `races`: calls released together in threads
- `settings`: production settings that pass the start-up checks
- `factories/<module>`: rows straight into the database (`make_user`, `make_product`, ...)
- `<module>` (orders, invoice, report, consent, notification, collection): that module's
  journeys over HTTP, the way a frontend drives them
- `images`: real images for the photo tests
- `documented_errors`: the autouse check that every error answer is documented for its operation
"""
