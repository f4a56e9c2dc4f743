// A shared library without the segdistill entry point.
extern "C" __attribute__((visibility("default"))) int segdistill_test_not_a_plugin() { return 42; }
