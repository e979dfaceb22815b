"""Faked /proc/cpuinfo of the two x86 kinds int8 quantization tells apart."""

# The first lines of /proc/cpuinfo on the two x86 kinds, flags shortened.
CPUINFO_VNNI = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16
bugs\t\t: spectre_v1
"""
CPUINFO_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse2 avx avx2 fma bmi2 sha_ni
bugs\t\t: sysret_ss_attrs
"""
