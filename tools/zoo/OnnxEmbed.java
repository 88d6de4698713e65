// Embeds images with ONNX Runtime (Java), for verify_onnx_experts.py: the same runtime Needle uses.
//   java -cp onnxruntime.jar tools/zoo/OnnxEmbed.java IMAGES.f32 N OUT_DIR MODEL.onnx[@ADAPTER_INDEX]...
// IMAGES.f32: N*784 little-endian float32 in [0,1]; writes OUT_DIR/<k>.f32 (N*D float32) for the k-th model.
import ai.onnxruntime.*;
import java.nio.*;
import java.nio.file.*;
import java.util.*;

public class OnnxEmbed {
  public static void main(String[] a) throws Exception {
    int n = Integer.parseInt(a[1]);
    FloatBuffer img = ByteBuffer.wrap(Files.readAllBytes(Path.of(a[0]))).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    for (int k = 3; k < a.length; k++) {
      String[] spec = a[k].split("@");
      try (OrtSession s = env.createSession(spec[0], new OrtSession.SessionOptions())) {
        Map<String, OnnxTensor> in = new HashMap<>();
        img.rewind();
        in.put("image", OnnxTensor.createTensor(env, img, new long[] {n, 1, 28, 28}));
        if (spec.length > 1)
          in.put("adapter", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {Long.parseLong(spec[1])}), new long[] {}));
        try (OrtSession.Result r = s.run(in)) {
          float[][] z = (float[][]) r.get(0).getValue();
          ByteBuffer out = ByteBuffer.allocate(n * z[0].length * 4).order(ByteOrder.LITTLE_ENDIAN);
          for (float[] row : z) for (float v : row) out.putFloat(v);
          Files.write(Path.of(a[2], (k - 3) + ".f32"), out.array());
        }
        for (OnnxTensor t : in.values()) t.close();
      }
    }
  }
}
