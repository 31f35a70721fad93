"""Partners of the community: alliance units, social organisations, merchants and teams, with their offers."""
