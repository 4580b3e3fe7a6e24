"""The numbers a unit reports upward: organisational life against what the rules require,
attendance, service, reporting and notices, for a period (models.stats.period)."""
