#!/bin/bash
# GPU training of the three shipped models in parallel on one card (lead's run).
set -u
nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__)"
cd .ds
python3 ../training/pack_gz.py unpack train1 /tmp/t1 && python3 ../training/pack_gz.py unpack drift4s /tmp/d4 && python3 ../training/pack_gz.py unpack val2 /tmp/v && python3 ../training/pack_gz.py unpack test3 /tmp/te && python3 ../training/pack_gz.py merge /tmp/t1 /tmp/d4 /tmp/tr || exit 1
cd ..
echo "data ready $(date +%T)"
for a in lt-vit vit cnn; do
  python3 -W ignore training/train.py --arch $a --data /tmp/tr --val-data /tmp/v --test-data /tmp/te --out $OUT/$a --minutes ${MIN:-2.2} --batch-size 4096 --device cuda --eval-every 200 --max-eval 20000 --patience 1000 --no-export > $OUT/$a.log 2>&1 &
done
wait
echo "done $(date +%T)"; tail -n 4 $OUT/*.log
