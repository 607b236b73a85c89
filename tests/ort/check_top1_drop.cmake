# Fails when a `pare quantize` report's top-1 drop (float top-1 minus quantized top-1, in points, both measured by
# pare on the report's evaluation data) exceeds a limit:
#   cmake -DREPORT=report.json -DMAX_DROP=0.2 -P check_top1_drop.cmake
if(NOT DEFINED REPORT OR NOT DEFINED MAX_DROP)
    message(FATAL_ERROR "usage: cmake -DREPORT=report.json -DMAX_DROP=points -P check_top1_drop.cmake")
endif()
file(READ "${REPORT}" report)
string(JSON drop GET "${report}" accuracy top1_drop_points)
string(JSON before GET "${report}" accuracy before top1)
string(JSON after GET "${report}" accuracy after top1)
string(JSON samples GET "${report}" accuracy samples)
message(STATUS "${REPORT}: top-1 ${before} -> ${after} on ${samples} samples, drop ${drop} points (limit ${MAX_DROP})")
# CMake compares numbers as doubles when both sides parse as numbers.
if(drop GREATER MAX_DROP)
    message(FATAL_ERROR "top-1 drop ${drop} points exceeds ${MAX_DROP}")
endif()
