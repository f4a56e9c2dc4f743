// Compiles the shared precompiled header (see SegdistillPch.cmake).
