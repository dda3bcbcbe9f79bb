"""The learner's own pages: VNeID sign-in (as a relying party), progress and certificates."""
