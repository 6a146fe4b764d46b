"""Judging trained converters and blocks.

- :mod:`.metrics`: ENOB / SNDR (coherent sine; spectral and the paper's Eq. (18)), DNL / INL and
  transition levels (ramp);
- :mod:`.variation_bound`: the ENOB that independent cell variation allows a design without calibration;
- :mod:`.monte_carlo`: a converter over Monte-Carlo chips and inverter corners (:class:`EvalV1Config`);
- :mod:`.sigma_sweep`: ENOB against the conductance variation sigma (:class:`SigmaSweepV1Config`);
- :mod:`.block_sweep`: single blocks over RRAM precision x hidden size (:class:`BlockSweepV1Config`);
- :mod:`.report`, :mod:`.plots`: the results table and the figures.
"""
