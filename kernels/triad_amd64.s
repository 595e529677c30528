#include "textflag.h"

// func triadAVX2(dst, b, c []float64, q float64)
// dst[i] = b[i] + q*c[i] for i < len(dst)&^15; multiply and add are
// rounded separately (no FMA), matching the Go loop bit for bit.
TEXT ·triadAVX2(SB), NOSPLIT, $0-80
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	MOVQ         b_base+24(FP), SI
	MOVQ         c_base+48(FP), DX
	VBROADCASTSD q+72(FP), Y0
	SHRQ         $4, CX
	JZ           done

loop:
	VMULPD  (DX), Y0, Y1
	VMULPD  32(DX), Y0, Y2
	VMULPD  64(DX), Y0, Y3
	VMULPD  96(DX), Y0, Y4
	VADDPD  (SI), Y1, Y1
	VADDPD  32(SI), Y2, Y2
	VADDPD  64(SI), Y3, Y3
	VADDPD  96(SI), Y4, Y4
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	VMOVUPD Y3, 64(DI)
	VMOVUPD Y4, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
