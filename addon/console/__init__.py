"""The web console (`guarita console`): pages and a JSON API over the library core."""
