"""有事好商量: matters residents raise, the desk files under the community's standards, residents of the
micro-grid support, a 议事会 decides; each matter has a public page."""
