"""Functions for the recurrent kernels (hw3): cells and whole-sequence layers.

Positional inputs are the differentiable arrays in kernel order (biases may be None);
``nonlinearity`` and ``reverse`` are options. Sequence Functions are one node per layer,
per direction, per sequence, with two (RNN, GRU) or three (LSTM) outputs."""
from ...kernels import recurrent as rk
from ..function import kernel_function

RNNCellFunction = kernel_function("RNNCellFunction", rk.rnn_cell_forward, rk.rnn_cell_backward)
GRUCellFunction = kernel_function("GRUCellFunction", rk.gru_cell_forward, rk.gru_cell_backward)
LSTMCellFunction = kernel_function("LSTMCellFunction", rk.lstm_cell_forward, rk.lstm_cell_backward)

RNNFunction = kernel_function("RNNFunction", rk.rnn_forward, rk.rnn_backward)
GRUFunction = kernel_function("GRUFunction", rk.gru_forward, rk.gru_backward)
LSTMFunction = kernel_function("LSTMFunction", rk.lstm_forward, rk.lstm_backward)
