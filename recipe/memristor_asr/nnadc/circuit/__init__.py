"""The circuit model of an NNADC block, each piece of physics written once.

- :mod:`.vtc`: the CMOS inverter curve family (the activation of every hidden neuron);
- :mod:`.rram`: ``A_R``-bit conductance levels and the passive-column budget of a crossbar;
- :mod:`.crossbar`: a crossbar column as a passive divider, the three-layer block forward pass
  (input crossbar -> inverters -> output crossbar) and the column conductances behind it;
- :mod:`.variation`: the lognormal conductance variation model (Monte-Carlo chips, and the
  noise of variation-aware training);
- :mod:`.block`: the trainable block and the programmed block (levels, steps, chips);
- :mod:`.smooth_code`: the comparator outputs' code (smooth codes, decoding, logic levels).

Training, evaluation and the ngspice / table export all go through these modules.
"""
