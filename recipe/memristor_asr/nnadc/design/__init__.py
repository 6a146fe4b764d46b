"""What a converter is: its configuration, conversion law, programmed blocks and digital combiner.

- :mod:`.config`: sub-ranging and pipelined designs (:class:`StageV1Config`, :class:`PipelinedAdcV1Config`,
  :class:`SubrangingAdcV1Config`), validated on construction;
- :mod:`.conversion_law`: linear / log2 law, and the ideal converter's digits and residues;
- :mod:`.converter`: a trained converter (:class:`NnadcConverter`), its Monte-Carlo chips and signal flow;
- :mod:`.combiner`: per-stage digits -> output code (shift-and-add, or calibrated bit weights).
"""
