# Start task, one step per line. batchspec joins the lines with '&&' into the single command line
# /bin/bash -c "..." that the source pool ran (blank and # lines are skipped).
# Beware: in a chain like `a && b || echo skipped && c` the `|| echo` also runs when ANY earlier
# step failed, and the chain carries on. To turn this into a plain script that stops at the first
# failure, delete strict/quote/joinWith from startTask in batchspec.yaml and write the steps as a
# normal script (`cmd || true` where a failure is fine); the pool's command line changes then.
echo 'Set Python 3.10'
sudo update-alternatives --set python3 /usr/bin/python3.10 || echo 'Skipped: Set Python 3.10'
echo '########## Add PPA Repository ##########'
sudo apt update
sudo add-apt-repository ppa:deadsnakes/ppa || echo 'Skipped: Add Repository'
echo '########## Install Python V3.8 ##########'
sudo apt -y install python3.8 || echo 'Skipped: Install Python 3.8'
sudo apt -y install python3.8-dev
sudo update-alternatives --install /usr/bin/python3 python3 /usr/bin/python3.8 2
sudo update-alternatives --install /usr/bin/python3 python3 /usr/bin/python3.10 1
sudo update-alternatives --set python3 /usr/bin/python3.8
python3 --version
sudo apt -y install python3-pip
sudo apt -y install python3.8-distutils
python3 -m pip install --upgrade pip
echo '########## Setting Others Configuration ##########'
sudo curl https://packages.microsoft.com/keys/microsoft.asc | apt-key add -
sudo curl https://packages.microsoft.com/config/ubuntu/22.04/prod.list > /etc/apt/sources.list.d/mssql-release.list
sudo ACCEPT_EULA=Y apt install -y msodbcsql17
sudo ACCEPT_EULA=Y apt install -y mssql-tools
echo 'export PATH="$PATH:/opt/mssql-tools/bin"' >> ~/.bashrc
source ~/.bashrc
sudo apt -y install unixodbc-dev
echo '########## Start Install Python Library ##########'
pip3 install azure-core==1.17.0
pip3 install azure-storage-blob==12.8.1
pip3 install networkx==2.5
pip3 install numpy==1.19.5
pip3 install pandas==1.1.3
pip3 install pyarrow==1.0.1
pip3 install pyodbc==4.0.35
pip3 install pythainlp==2.3.0
pip3 install rapidfuzz==1.3.3
pip3 install scikit-learn==0.24.1
pip3 install scipy==1.6.0
pip3 install torch==1.7.1
pip3 install tqdm==4.58.0
pip3 install azure-keyvault-secrets==4.3.0
pip3 install azure-identity==1.6.1
pip3 install cffi==1.14.6
pip install azure-storage-file-datalake==12.4.0
pip install duckdb==0.2.9
pip install Office365-REST-Python-Client==2.3.8
pip install openpyxl==3.0.9
pip install xlsxwriter
pip install xlrd==1.2.0
pip install pytz==2021.1
