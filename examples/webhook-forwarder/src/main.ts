// Placeholder: the example is being written.
export {}
