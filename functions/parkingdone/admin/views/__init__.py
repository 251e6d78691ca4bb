"""The dashboard's blueprints, one per page family."""
