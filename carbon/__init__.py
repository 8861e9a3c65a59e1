"""Energy (kWh) and CO2e per region per service, and carbon-aware scheduling."""
