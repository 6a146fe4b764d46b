"""A trained NNADC for other tools.

- :mod:`.netlist`: a 1-bit stage as an ngspice netlist, and its behavioural twin;
- :mod:`.transfer_table`: code-transfer tables (Monte-Carlo instances) for other simulators;
- :mod:`.crossbar_adc`: such a table as the column ADC of the crossbar simulation.
"""
