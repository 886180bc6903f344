"""The organisation held in the database: regions, departments and institutions."""
