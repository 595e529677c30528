#include "textflag.h"

// AVX2 rows of resid and psinv (see stencil_amd64.go), in mg.f's two
// steps: sumsAVX2 forms the neighbour sums u1/u2 (r1/r2) of one row into
// a scratch row, then residRowAVX2 or psinvRowAVX2 updates the row from
// it. Four points go per vector; every lane computes one point with the
// reference's operations in the reference's order, multiply and add
// rounded separately (no FMA), so each point is bit for bit what the Go
// loops compute. Tails shorter than a vector use the scalar forms of the
// same instructions. Index registers hold byte offsets.
//
// The streams a row touches first (the far plane's row in the sums, v
// and r in resid, u in psinv) are prefetched PFD bytes ahead. Without it
// the 258^3 sweeps waited on memory (the hardware prefetchers start over
// at every 4 KiB page, two rows there); on the 2-core VM 1-2 KiB ahead
// took class A's resid from 48 to 38 ms and psinv from 42 to 30 ms, 256
// and 512 bytes gained less, 4 and 8 KiB a little less.
#define PFD 1536

// func sumsAVX2(w, b []float64, n1, p int)
// With c = b[n1+p:], for i in [0, n1):
// w[i]    = ((c[i-n1] + c[i+n1]) + c[i-p]) + c[i+p]
// w[n1+i] = ((c[i-n1-p] + c[i+n1-p]) + c[i-n1+p]) + c[i+n1+p]
TEXT ·sumsAVX2(SB), NOSPLIT, $0-64
	MOVQ w_base+0(FP), R12
	MOVQ b_base+24(FP), SI    // c - n1 - p
	MOVQ n1+48(FP), R8
	MOVQ p+56(FP), R9
	SHLQ $3, R8
	SHLQ $3, R9
	LEAQ (SI)(R9*1), AX       // c - n1
	LEAQ (AX)(R8*2), BX       // c + n1
	LEAQ (SI)(R8*1), CX       // c - p
	LEAQ (CX)(R9*2), DX       // c + p
	LEAQ (SI)(R8*2), DI       // c + n1 - p
	LEAQ (SI)(R9*2), R10      // c - n1 + p
	LEAQ (R10)(R8*2), R11     // c + n1 + p
	LEAQ (R12)(R8*1), R13     // w[n1:]
	XORQ R9, R9
	SUBQ $32, R8              // last vector start
	JLT  sumstail

sumsloop:
	PREFETCHT0 PFD(R11)(R9*1)
	VMOVUPD (AX)(R9*1), Y0
	VADDPD  (BX)(R9*1), Y0, Y0
	VADDPD  (CX)(R9*1), Y0, Y0
	VADDPD  (DX)(R9*1), Y0, Y0
	VMOVUPD Y0, (R12)(R9*1)
	VMOVUPD (SI)(R9*1), Y1
	VADDPD  (DI)(R9*1), Y1, Y1
	VADDPD  (R10)(R9*1), Y1, Y1
	VADDPD  (R11)(R9*1), Y1, Y1
	VMOVUPD Y1, (R13)(R9*1)
	ADDQ    $32, R9
	CMPQ    R9, R8
	JLE     sumsloop

sumstail:
	ADDQ $32, R8              // end
	CMPQ R9, R8
	JGE  sumsdone

sumsone:
	VMOVSD (AX)(R9*1), X0
	VADDSD (BX)(R9*1), X0, X0
	VADDSD (CX)(R9*1), X0, X0
	VADDSD (DX)(R9*1), X0, X0
	VMOVSD X0, (R12)(R9*1)
	VMOVSD (SI)(R9*1), X1
	VADDSD (DI)(R9*1), X1, X1
	VADDSD (R10)(R9*1), X1, X1
	VADDSD (R11)(R9*1), X1, X1
	VMOVSD X1, (R13)(R9*1)
	ADDQ   $8, R9
	CMPQ   R9, R8
	JLT    sumsone

sumsdone:
	VZEROUPPER
	RET

// func residRowAVX2(r, v, c, w []float64, a *[4]float64)
// With n1 = len(r), u1 = w[:n1], u2 = w[n1:], for i in [1, n1-1):
// r[i] = ((v[i] - a0*c[i]) - a2*((u2[i] + u1[i-1]) + u1[i+1]))
//        - a3*(u2[i-1] + u2[i+1])
TEXT ·residRowAVX2(SB), NOSPLIT, $0-104
	MOVQ         a+96(FP), AX
	VBROADCASTSD (AX), Y10    // a0
	VBROADCASTSD 16(AX), Y11  // a2
	VBROADCASTSD 24(AX), Y12  // a3
	MOVQ         r_base+0(FP), DI
	MOVQ         r_len+8(FP), R8
	MOVQ         v_base+24(FP), SI
	MOVQ         c_base+48(FP), AX
	MOVQ         w_base+72(FP), R12
	SHLQ         $3, R8
	LEAQ         (R12)(R8*1), R13 // u2
	SUBQ         $8, R8           // end: (n1-1)*8
	MOVQ         $8, R9           // i = 1
	SUBQ         $32, R8          // last vector start
	CMPQ         R9, R8
	JGT          residtail

residloop:
	PREFETCHT0 PFD(SI)(R9*1)
	PREFETCHT0 PFD(DI)(R9*1)
	VMULPD  (AX)(R9*1), Y10, Y3
	VMOVUPD (SI)(R9*1), Y4
	VSUBPD  Y3, Y4, Y4
	VMOVUPD (R13)(R9*1), Y5
	VADDPD  -8(R12)(R9*1), Y5, Y5
	VADDPD  8(R12)(R9*1), Y5, Y5
	VMULPD  Y11, Y5, Y5
	VSUBPD  Y5, Y4, Y4
	VMOVUPD -8(R13)(R9*1), Y6
	VADDPD  8(R13)(R9*1), Y6, Y6
	VMULPD  Y12, Y6, Y6
	VSUBPD  Y6, Y4, Y4
	VMOVUPD Y4, (DI)(R9*1)
	ADDQ    $32, R9
	CMPQ    R9, R8
	JLE     residloop

residtail:
	ADDQ $32, R8
	CMPQ R9, R8
	JGE  residdone

residone:
	VMULSD (AX)(R9*1), X10, X3
	VMOVSD (SI)(R9*1), X4
	VSUBSD X3, X4, X4
	VMOVSD (R13)(R9*1), X5
	VADDSD -8(R12)(R9*1), X5, X5
	VADDSD 8(R12)(R9*1), X5, X5
	VMULSD X11, X5, X5
	VSUBSD X5, X4, X4
	VMOVSD -8(R13)(R9*1), X6
	VADDSD 8(R13)(R9*1), X6, X6
	VMULSD X12, X6, X6
	VSUBSD X6, X4, X4
	VMOVSD X4, (DI)(R9*1)
	ADDQ   $8, R9
	CMPQ   R9, R8
	JLT    residone

residdone:
	VZEROUPPER
	RET

// func residNormRowAVX2(r, v, c, w []float64, a *[4]float64, acc *[2]float64)
// residRowAVX2, and then, for i in [1, n1-1) in order,
// acc[0] += r[i]*r[i] and acc[1] = max(acc[1], |r[i]|) (norm2u3's sums).
// The squares are added one lane at a time, in point order.
TEXT ·residNormRowAVX2(SB), NOSPLIT, $0-112
	MOVQ         a+96(FP), AX
	VBROADCASTSD (AX), Y10    // a0
	VBROADCASTSD 16(AX), Y11  // a2
	VBROADCASTSD 24(AX), Y12  // a3
	MOVQ         acc+104(FP), BX
	VMOVSD       (BX), X15    // sum
	VBROADCASTSD 8(BX), Y14   // max
	VPCMPEQQ     Y13, Y13, Y13
	VPSRLQ       $1, Y13, Y13 // |x| mask
	MOVQ         r_base+0(FP), DI
	MOVQ         r_len+8(FP), R8
	MOVQ         v_base+24(FP), SI
	MOVQ         c_base+48(FP), AX
	MOVQ         w_base+72(FP), R12
	SHLQ         $3, R8
	LEAQ         (R12)(R8*1), R13 // u2
	SUBQ         $8, R8           // end: (n1-1)*8
	MOVQ         $8, R9           // i = 1
	SUBQ         $32, R8          // last vector start
	CMPQ         R9, R8
	JGT          normtail

normloop:
	PREFETCHT0 PFD(SI)(R9*1)
	PREFETCHT0 PFD(DI)(R9*1)
	VMULPD       (AX)(R9*1), Y10, Y3
	VMOVUPD      (SI)(R9*1), Y4
	VSUBPD       Y3, Y4, Y4
	VMOVUPD      (R13)(R9*1), Y5
	VADDPD       -8(R12)(R9*1), Y5, Y5
	VADDPD       8(R12)(R9*1), Y5, Y5
	VMULPD       Y11, Y5, Y5
	VSUBPD       Y5, Y4, Y4
	VMOVUPD      -8(R13)(R9*1), Y6
	VADDPD       8(R13)(R9*1), Y6, Y6
	VMULPD       Y12, Y6, Y6
	VSUBPD       Y6, Y4, Y4
	VMOVUPD      Y4, (DI)(R9*1)
	VANDPD       Y13, Y4, Y8
	VMAXPD       Y8, Y14, Y14
	VMULPD       Y4, Y4, Y7
	VADDSD       X7, X15, X15     // lane 0
	VPERMILPD    $1, X7, X8
	VADDSD       X8, X15, X15     // lane 1
	VEXTRACTF128 $1, Y7, X9
	VADDSD       X9, X15, X15     // lane 2
	VPERMILPD    $1, X9, X9
	VADDSD       X9, X15, X15     // lane 3
	ADDQ         $32, R9
	CMPQ         R9, R8
	JLE          normloop

normtail:
	VEXTRACTF128 $1, Y14, X8      // the lanes' maximum, before scalar
	VMAXPD       X8, X14, X14     // ops clear the upper half of Y14
	VPERMILPD    $1, X14, X8
	VMAXSD       X8, X14, X14
	ADDQ         $32, R8
	CMPQ         R9, R8
	JGE          normdone

normone:
	VMULSD (AX)(R9*1), X10, X3
	VMOVSD (SI)(R9*1), X4
	VSUBSD X3, X4, X4
	VMOVSD (R13)(R9*1), X5
	VADDSD -8(R12)(R9*1), X5, X5
	VADDSD 8(R12)(R9*1), X5, X5
	VMULSD X11, X5, X5
	VSUBSD X5, X4, X4
	VMOVSD -8(R13)(R9*1), X6
	VADDSD 8(R13)(R9*1), X6, X6
	VMULSD X12, X6, X6
	VSUBSD X6, X4, X4
	VMOVSD X4, (DI)(R9*1)
	VANDPD X13, X4, X8
	VMAXSD X8, X14, X14
	VMULSD X4, X4, X7
	VADDSD X7, X15, X15
	ADDQ   $8, R9
	CMPQ   R9, R8
	JLT    normone

normdone:
	VMOVSD       X15, (BX)
	VMOVSD       X14, 8(BX)
	VZEROUPPER
	RET

// func psinvRowAVX2(u, q, w []float64, c *[4]float64)
// With n1 = len(u), r1 = w[:n1], r2 = w[n1:], for i in [1, n1-1):
// u[i] = ((u[i] + c0*q[i]) + c1*((q[i-1] + q[i+1]) + r1[i]))
//        + c2*((r2[i] + r1[i-1]) + r1[i+1])
TEXT ·psinvRowAVX2(SB), NOSPLIT, $0-80
	MOVQ         c+72(FP), AX
	VBROADCASTSD (AX), Y10    // c0
	VBROADCASTSD 8(AX), Y11   // c1
	VBROADCASTSD 16(AX), Y12  // c2
	MOVQ         u_base+0(FP), DI
	MOVQ         u_len+8(FP), R8
	MOVQ         q_base+24(FP), AX
	MOVQ         w_base+48(FP), R12
	SHLQ         $3, R8
	LEAQ         (R12)(R8*1), R13 // r2
	SUBQ         $8, R8           // end: (n1-1)*8
	MOVQ         $8, R9           // i = 1
	SUBQ         $32, R8          // last vector start
	CMPQ         R9, R8
	JGT          psinvtail

psinvloop:
	PREFETCHT0 PFD(DI)(R9*1)
	VMULPD  (AX)(R9*1), Y10, Y3
	VADDPD  (DI)(R9*1), Y3, Y4
	VMOVUPD -8(AX)(R9*1), Y5
	VADDPD  8(AX)(R9*1), Y5, Y5
	VADDPD  (R12)(R9*1), Y5, Y5
	VMULPD  Y11, Y5, Y5
	VADDPD  Y5, Y4, Y4
	VMOVUPD (R13)(R9*1), Y6
	VADDPD  -8(R12)(R9*1), Y6, Y6
	VADDPD  8(R12)(R9*1), Y6, Y6
	VMULPD  Y12, Y6, Y6
	VADDPD  Y6, Y4, Y4
	VMOVUPD Y4, (DI)(R9*1)
	ADDQ    $32, R9
	CMPQ    R9, R8
	JLE     psinvloop

psinvtail:
	ADDQ $32, R8
	CMPQ R9, R8
	JGE  psinvdone

psinvone:
	VMULSD (AX)(R9*1), X10, X3
	VADDSD (DI)(R9*1), X3, X4
	VMOVSD -8(AX)(R9*1), X5
	VADDSD 8(AX)(R9*1), X5, X5
	VADDSD (R12)(R9*1), X5, X5
	VMULSD X11, X5, X5
	VADDSD X5, X4, X4
	VMOVSD (R13)(R9*1), X6
	VADDSD -8(R12)(R9*1), X6, X6
	VADDSD 8(R12)(R9*1), X6, X6
	VMULSD X12, X6, X6
	VADDSD X6, X4, X4
	VMOVSD X4, (DI)(R9*1)
	ADDQ   $8, R9
	CMPQ   R9, R8
	JLT    psinvone

psinvdone:
	VZEROUPPER
	RET
