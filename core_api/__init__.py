"""The supervised service: 195 countries, GDP-based contributions, projects in six sectors
and a 50/30/20 profit split, served per region."""
