"""The downloadable holdings template: the canonical header and example rows that validate clean."""

from __future__ import annotations

# One long stock, one more with two tags, a short (negative quantity) and an OSI call option
# (quantity in contracts, entry_price the per-share premium). Symbols are in the bundled dataset.
TEMPLATE_CSV = (
    "ticker,quantity,entry_price,entry_date,tags,strategy,notes\r\n"
    "AAPL,100,185.25,2024-03-15,core;tech,,Long-term holding\r\n"
    "MSFT,40,402.10,2024-06-03,core,,\r\n"
    "SPY,-25,510.40,2024-09-12,hedge,Index hedge,Short shares: negative quantity\r\n"
    "AAPL270115C00250000,2,12.50,2024-11-01,options,Covered upside,"
    "Option: OSI symbol; quantity in contracts; price per share\r\n"
)
