"""Models on the encoded table: the any-order token trees and the differentially private model.

The public :class:`~lookalike.Synthesizer` that fits them and draws rows under controls lives in
:mod:`lookalike.sample`, after :mod:`lookalike.control` in the flow.
"""
