"""The mesh network-on-chip: geometry, statistics, the three network models and the network front."""
