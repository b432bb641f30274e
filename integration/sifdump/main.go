// sifdump prints what the SIF reference implementation (sylabs/sif pkg/sif) reads from a file,
// in the shape of `sifter inspect --json`, so the integration run can compare the two readers
// field by field. sizeWithPadding is not exposed by the reference API and is left out.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sylabs/sif/v2/pkg/sif"
)

var typeNames = map[sif.DataType]string{
	sif.DataDeffile: "deffile", sif.DataEnvVar: "envvar", sif.DataLabels: "labels",
	sif.DataPartition: "partition", sif.DataSignature: "signature", sif.DataGenericJSON: "genericJSON",
	sif.DataGeneric: "generic", sif.DataCryptoMessage: "cryptoMessage", sif.DataSBOM: "sbom",
}

var fsNames = map[sif.FSType]string{
	sif.FsSquash: "squashfs", sif.FsExt3: "ext3", sif.FsImmuObj: "archive", sif.FsRaw: "raw",
	sif.FsEncryptedSquashfs: "encryptedSquashfs",
}

var partNames = map[sif.PartType]string{
	sif.PartSystem: "system", sif.PartPrimSys: "primSys", sif.PartData: "data", sif.PartOverlay: "overlay",
}

func nameOr[K comparable](m map[K]string, k K) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "unknown"
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sifdump FILE.sif")
		os.Exit(2)
	}
	f, err := sif.LoadContainerFromPath(os.Args[1], sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.UnloadContainer()

	out := map[string]any{
		"header": map[string]any{
			"launchScript":      f.LaunchScript(),
			"version":           f.Version(),
			"id":                f.ID(),
			"arch":              f.PrimaryArch(),
			"createdAt":         f.CreatedAt().Unix(),
			"modifiedAt":        f.ModifiedAt().Unix(),
			"descriptorsFree":   f.DescriptorsFree(),
			"descriptorsTotal":  f.DescriptorsTotal(),
			"descriptorsOffset": f.DescriptorsOffset(),
			"descriptorsSize":   f.DescriptorsSize(),
			"dataOffset":        f.DataOffset(),
			"dataSize":          f.DataSize(),
		},
	}
	descriptors := []map[string]any{}
	var failure error
	f.WithDescriptors(func(d sif.Descriptor) bool {
		m := map[string]any{
			"id": d.ID(), "type": nameOr(typeNames, d.DataType()), "typeCode": int32(d.DataType()),
			"offset": d.Offset(), "size": d.Size(), "name": d.Name(),
			"createdAt": d.CreatedAt().Unix(), "modifiedAt": d.ModifiedAt().Unix(),
		}
		if g := d.GroupID(); g != 0 {
			m["group"] = g
		} else {
			m["group"] = nil
		}
		id, isGroup := d.LinkedID()
		if id != 0 {
			m["link"] = id
		} else {
			m["link"] = nil
		}
		m["linkIsGroup"] = isGroup && id != 0
		h := sha256.New()
		if _, err := io.Copy(h, d.GetReader()); err != nil {
			failure = err
			return true
		}
		m["sha256"] = hex.EncodeToString(h.Sum(nil))
		switch d.DataType() {
		case sif.DataPartition:
			fs, pt, arch, err := d.PartitionMetadata()
			if err != nil {
				failure = err
				return true
			}
			m["partition"] = map[string]any{
				"fsType": nameOr(fsNames, fs), "fsTypeCode": int32(fs), "partType": nameOr(partNames, pt),
				"partTypeCode": int32(pt), "arch": arch, "primary": pt == sif.PartPrimSys,
			}
		case sif.DataSignature:
			ht, fp, err := d.SignatureMetadata()
			if err != nil {
				failure = err
				return true
			}
			m["signature"] = map[string]any{
				"hashType": strings.ToLower(strings.ReplaceAll(ht.String(), "-", "")),
				"entity":   hex.EncodeToString(fp),
			}
		case sif.DataCryptoMessage:
			ft, mt, err := d.CryptoMessageMetadata()
			if err != nil {
				failure = err
				return true
			}
			m["cryptoMessage"] = map[string]any{"format": map[sif.FormatType]string{sif.FormatOpenPGP: "openpgp", sif.FormatPEM: "pem"}[ft],
				"messageType": map[sif.MessageType]string{sif.MessageClearSignature: "clearSignature", sif.MessageRSAOAEP: "rsaOaep"}[mt]}
		case sif.DataSBOM:
			format, err := d.SBOMMetadata()
			if err != nil {
				failure = err
				return true
			}
			m["sbom"] = map[string]any{"format": format.String()}
		}
		descriptors = append(descriptors, m)
		return false
	})
	if failure != nil {
		fmt.Fprintln(os.Stderr, failure)
		os.Exit(1)
	}
	out["descriptors"] = descriptors
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}
