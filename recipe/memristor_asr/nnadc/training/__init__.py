"""Training NNADCs under the hardware constraints.

- :mod:`.config`: the settings (:class:`BlockTrainV1Config`, :class:`ConverterTrainV1Config`);
- :mod:`.block`: one block on a pool (straight-through or staged quantization, variation-aware
  with the Monte-Carlo model of :mod:`..circuit.variation`);
- :mod:`.stages`: the three kinds of blocks (sub-ADC, mixed-ADC, residue), each returned programmed;
- :mod:`.pipelined`, :mod:`.subranging`: whole converters, stage by stage (collaborative training).
"""
