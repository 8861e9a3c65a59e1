"""The unit ids Grafana knows (its valueFormats categories), as dashboard-linter checks."""

from __future__ import annotations

VALID_UNITS: frozenset[str] = frozenset({
    "none", "string", "short", "percent", "percentunit", "humidity", "dB", "hex0x", "hex",
    "sci", "locale", "pixel", "bytes", "decbytes", "bits", "decbits", "kbytes", "deckbytes",
    "mbytes", "decmbytes", "gbytes", "decgbytes", "tbytes", "pps", "binBps", "Bps", "binbps",
    "bps", "KiBs", "Kibits", "KBs", "Kbits", "MiBs", "Mibits", "MBs", "Mbits", "GiBs",
    "Gibits", "GBs", "Gbits", "dateTimeAsIso", "dateTimeAsIsoNoDateIfToday", "dateTimeAsUS",
    "dateTimeAsUSNoDateIfToday", "dateTimeAsLocal", "dateTimeAsLocalNoDateIfToday",
    "dateTimeAsSystem", "dateTimeFromNow", "watt", "kwatt", "megwatt", "gwatt", "mwatt",
    "watth", "kwatth", "joule", "hertz", "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms",
    "dtdurations", "dthms", "dtdhms", "timeticks", "clockms", "clocks", "cps", "ops", "reqps",
    "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm", "celsius", "fahrenheit", "kelvin",
    "currencyUSD", "currencyEUR", "massg", "masskg", "bool", "bool_yes_no", "bool_on_off",
})
