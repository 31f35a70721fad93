"""Needs as projects (便民服务联认): the desk publishes a need, partners claim it, the community hears."""
