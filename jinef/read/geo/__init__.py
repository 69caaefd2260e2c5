"""Location services: postcode → point, point → buildings and postcodes, point → province and county."""
