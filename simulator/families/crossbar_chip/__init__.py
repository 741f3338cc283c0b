"""The ``crossbar_chip`` family: TReX's FeFET/SRAM crossbar chips."""
