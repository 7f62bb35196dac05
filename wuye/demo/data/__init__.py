"""Static data the demo generator draws from (names, estate names)."""
